"""The reports: the paper's numbers beside this run's (reproduction.md), the pages of the HTML report
and the run's provenance. `report` is the stage's entry: what each rule runs. Table writing and the
comparison with the paper are top-level modules (tables, versus_paper), since every stage uses them."""
