from cchc_shared.server import serve
from cchc_shared.settings import PlansSettings
from cchc_plans.main import create_app

settings = PlansSettings()
serve(lambda: create_app(settings), settings)
