"""Pages of the closed loop, mounted at /loop/ (the SLA pages have their own map at /loop/sla/)."""

from django.urls import path

from sonda.loop import config_views, settings_views, views

app_name = "loop"
urlpatterns = [
    path("cases/", views.case_list_page, name="cases"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/note/", views.case_note, name="case_note"),
    path("cases/<int:case_id>/state/", views.case_state, name="case_state"),
    path("cases/<int:case_id>/root-causes/", views.case_root_causes, name="case_root_causes"),
    path("cases/<int:case_id>/outcome/", views.case_outcome, name="case_outcome"),
    path("cases/<int:case_id>/reassign/", views.case_reassign_page, name="case_reassign"),
    path("cases/<int:case_id>/coaching/", views.case_coaching, name="case_coaching"),
    path("workload/", views.workload_page, name="workload"),
    path("my-functions/", views.function_cases_page, name="function_cases"),
    path("coaching/", views.coaching_page, name="coaching"),
    path(
        "coaching/<int:note_id>/acknowledge/",
        views.coaching_acknowledge,
        name="coaching_acknowledge",
    ),
    path("problems/", config_views.problem_list_page, name="problems"),
    path("problems/new/", config_views.problem_create_page, name="problem_create"),
    path("problems/<int:problem_id>/edit/", config_views.problem_edit_page, name="problem_edit"),
    path("problems/mappings/", config_views.mapping_list_page, name="mappings"),
    path(
        "problems/mappings/<int:mapping_id>/delete/",
        config_views.mapping_delete,
        name="mapping_delete",
    ),
    path("functions/", config_views.function_list_page, name="functions"),
    path("functions/new/", config_views.function_create_page, name="function_create"),
    path(
        "functions/<int:function_id>/edit/",
        config_views.function_edit_page,
        name="function_edit",
    ),
    path("alert-rules/", config_views.rule_list_page, name="rules"),
    path("alert-rules/new/", config_views.rule_create_page, name="rule_create"),
    path("alert-rules/<int:rule_id>/edit/", config_views.rule_edit_page, name="rule_edit"),
    path("alert-rules/<int:rule_id>/active/", config_views.rule_active, name="rule_active"),
    path("settings/", settings_views.loop_settings_page, name="settings"),
]
