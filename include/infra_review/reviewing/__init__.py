"""What every review (capacity, provider) shares around its criteria: who asked for which
quarter (``RunRequest``), the run key, one connection per step, the review run record and the
supersede-on-rerun write (``plumbing``), and the report files that appear only after the
records commit (``reports``)."""
