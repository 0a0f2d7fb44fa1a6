import os
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))  # tests import their fixture writers
# two test workers on two cores: torch in each takes one thread (set before any test module imports torch)
os.environ.setdefault('OMP_NUM_THREADS', '1')
