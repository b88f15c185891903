"""Safety compliance: LLM safety reasoning through the lens of the EU AI Act and the GDPR."""

__version__ = "0.1.0"

LABELS = ("prohibited", "permitted")


def __getattr__(name: str):
    # The laws' names and titles come from the law registry (laws.py), read when asked so that a law
    # registered later counts; inside the package, code asks laws.py directly.
    if name in ("LAWS", "LAW_NAMES"):
        from .laws import law_names, titles

        return law_names() if name == "LAWS" else titles()
    # Lazy so that `import safety_compliance` stays light (no torch / transformers until a guard is made).
    if name == "ComplianceReasoner":
        from .evaluate.guard import ComplianceReasoner

        return ComplianceReasoner
    raise AttributeError(f"module 'safety_compliance' has no attribute '{name}'")
