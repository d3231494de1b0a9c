"""taperwise: measure opioid withdrawal, keep supervised dosing safe, run and analyse trials.

taperwise never proposes a dose of any product and never claims efficacy: it measures.
"""

__version__ = "0.1.0"
