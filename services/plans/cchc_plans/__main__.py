from cchc_plans.main import create_app
from cchc_shared.server import serve
from cchc_shared.settings import PlansSettings

settings = PlansSettings()
serve(lambda: create_app(settings), settings)
