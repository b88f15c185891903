"""Stage 8 (RQ2): existing safety datasets as seeds. Filter them (filters; the datasets themselves are
the top-level safety_datasets), ask the GRPO reasoner which chapter of each law a sample relates to
(allocate), turn each sample into a compliance case (case_writer), let the baselines classify those
cases (the verifier families' predict), and write Figures 2-3 and Tables 5 and 8 (allocation_figures,
dataset_tables). `extrapolate` is the stage's entry: what each rule runs."""
