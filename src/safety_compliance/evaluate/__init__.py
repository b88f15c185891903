"""Stage 7: evaluation. The paper's accuracy tables, the representation-space guards (Safety Polytope,
linear probe), PrivaCI-Bench's cases and the guard interface. `evaluate` is the stage's entry: what each
rule runs. How each model is asked and read (the verifier families) and the metrics are top-level
modules (families, metrics), since extrapolation reuses them."""
