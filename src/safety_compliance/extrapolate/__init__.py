"""Stage 8 (RQ2): existing safety datasets as seeds. Load and filter them (datasets, filters), ask the
GRPO reasoner which chapter of each law a sample relates to (allocate), turn each sample into a
compliance case (cases), let the baselines classify those cases (classify), and write Figures 2-3 and
Tables 5 and 8 (figures, tables, summary). `jobs` holds the file-level steps the rules run."""
