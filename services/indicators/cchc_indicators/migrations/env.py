from cchc_shared.migrations import run_env
from cchc_indicators.store.models import Base

run_env(Base.metadata)
