"""The laws as trees of clauses, their source parsers, and the seed pool drawn from them."""
