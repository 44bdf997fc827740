from django.urls import path

from sonda.surveys import builder_views as views

app_name = "surveys"
urlpatterns = [
    path("", views.survey_list_page, name="list"),
    path("new/", views.survey_create_page, name="create"),
    path("programs/", views.program_list_page, name="program_list"),
    path("programs/new/", views.program_create_page, name="program_create"),
    path("programs/<int:program_id>/", views.program_detail, name="program_detail"),
    path("programs/<int:program_id>/edit/", views.program_edit, name="program_edit"),
    path("look/", views.survey_look, name="look"),
    path("look.css", views.survey_look_css, name="look_css"),
    path("<int:survey_id>/", views.survey_builder, name="builder"),
    path("<int:survey_id>/settings/", views.survey_settings, name="settings"),
    path("<int:survey_id>/draft/", views.survey_edit_draft, name="edit_draft"),
    path("<int:survey_id>/publish/", views.survey_publish, name="publish"),
    path("<int:survey_id>/versions/", views.survey_versions, name="versions"),
    path("<int:survey_id>/questions/new/", views.question_create, name="question_create"),
    path("<int:survey_id>/questions/<slug:key>/", views.question_edit, name="question_edit"),
    path(
        "<int:survey_id>/questions/<slug:key>/delete/",
        views.question_delete,
        name="question_delete",
    ),
    path("<int:survey_id>/questions/<slug:key>/move/", views.question_move, name="question_move"),
    path("<int:survey_id>/open-links/", views.open_links, name="open_links"),
    path(
        "<int:survey_id>/open-links/<int:open_link_id>/active/",
        views.open_link_active,
        name="open_link_active",
    ),
]
