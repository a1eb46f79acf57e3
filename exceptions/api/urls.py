from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("exceptions", views.CaseViewSet, basename="api-exception")
router.register("replays", views.ReplayViewSet, basename="api-replay")

urlpatterns = router.urls
