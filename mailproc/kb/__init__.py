"""Knowledge base: articles from files, a BM25F lexical index and a MiniLM semantic stage.

The matrices here are small (one query against a few thousand passages), and BLAS worker
threads that spin-wait for them cost more than they save once several mailproc processes
share the cores: measured with two workers on two cores, a suggestion took 1.5 s with
OpenBLAS's default threads and 41 ms with one. An operator's own setting still wins.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
