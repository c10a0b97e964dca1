"""Data of the indices sub-domain: the shipped framework files (``frameworks/``) and the demo
links of plan tasks to index components (``demo/``). The code lives in the service's layers:
``api/indices*.py``, ``domain/index_*.py``, ``service/index_*.py``, ``store/indices.py``."""
