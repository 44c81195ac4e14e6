"""``python -m featureplat.cli``."""
from featureplat.cli import main

main()
