from django.urls import path

from sonda.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list_page, name="list"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/merge/", views.customer_merge_page, name="merge"),
]
