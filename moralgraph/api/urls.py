from django.urls import path

from moralgraph.api import views

app_name = "api"

urlpatterns = [
    path("openapi.json", views.openapi, name="openapi"),
    path("studies/<slug:slug>/guidance", views.guidance, name="guidance"),
]
