"""Stages 2-4: the compliance benchmark (case synthesis, the train/test split), the human-evaluation
stage (Table 1) and the distillation traces for the cold start. `benchmark` is the stages' entry: what
each rule runs. The case record, its validation and the annotation kit are top-level modules (case,
case_validation, annotation_kit), since extrapolation reuses them."""
