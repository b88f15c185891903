"""Evaluation: verifier families (how each model is asked and read), metrics, the paper's accuracy
tables, the representation-space guards (Safety Polytope, linear probe) and the guard interface."""
