"""Style classifiers and the small tables shipped beside the weights."""
