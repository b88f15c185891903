"""Stage 1: the laws as trees of clauses, their source parsers, and the seed pool drawn from them.
`law` is the stage's entry: what each rule runs. The laws themselves are the top-level registry
(safety_compliance.laws)."""
