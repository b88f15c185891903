"""Safety compliance: LLM safety reasoning through the lens of the EU AI Act and the GDPR."""

__version__ = "0.1.0"

LAWS = ("eu_ai_act", "gdpr")
LABELS = ("prohibited", "permitted")
LAW_NAMES = {"eu_ai_act": "EU AI Act", "gdpr": "GDPR"}


def __getattr__(name: str):
    # Lazy so that `import safety_compliance` stays light (no torch / transformers until a guard is made).
    if name == "ComplianceReasoner":
        from .evaluate.guard import ComplianceReasoner

        return ComplianceReasoner
    raise AttributeError(f"module 'safety_compliance' has no attribute '{name}'")
