from cchc_gateway.store.models import Base
from cchc_shared.migrations import run_env

run_env(Base.metadata)
