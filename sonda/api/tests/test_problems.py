import json


def test_an_unknown_path_answers_problem_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404


def test_the_openapi_document_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert json.loads(response.content)["info"]["title"] == "Sonda API"
