from cchc_shared.migrations import run_env
from cchc_plans.store.models import Base

run_env(Base.metadata)
