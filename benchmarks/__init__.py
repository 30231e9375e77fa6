"""Performance figures for rfdocs (``make bench``): builds, renders, compute and convolution.

Nothing here is a test: the bench measures, compares with the goals and reports; it never fails
because a goal is missed.  ``python -m benchmarks.run --help`` lists the options.
"""
