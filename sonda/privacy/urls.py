from django.urls import path

from sonda.privacy import views

app_name = "privacy"
urlpatterns = [
    path("erase/", views.erase_page, name="erase"),
    path("customers/<int:customer_id>/export/", views.customer_export, name="customer_export"),
    path("customers/<int:customer_id>/erase/", views.customer_erase_page, name="customer_erase"),
]
