"""The compliance benchmark: case synthesis and validation, the train/test split, distillation
traces for the cold start, and the human-evaluation kit (Table 1)."""
