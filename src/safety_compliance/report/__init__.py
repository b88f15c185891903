"""Tables, figures and the paper-vs-run comparison."""
