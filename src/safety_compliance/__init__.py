"""Safety compliance: LLM safety reasoning through the lens of the EU AI Act and the GDPR."""

__version__ = "0.1.0"

LAWS = ("eu_ai_act", "gdpr")
LABELS = ("prohibited", "permitted")
LAW_NAMES = {"eu_ai_act": "EU AI Act", "gdpr": "GDPR"}
