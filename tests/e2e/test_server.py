"""Models, health, concurrency."""

import asyncio


def test_health_was_503_while_loading_then_200(server, http):
    assert server.saw_loading, "health never answered 503 during start-up"
    assert http.get("/health").status_code == 200


def test_models(client, model, http):
    models = client.models.list().data
    assert [m.id for m in models] == ["SmolLM2-135M-Instruct"]
    assert models[0].object == "model"
    assert client.models.retrieve(model).id == model
    assert http.get(f"/v1/models/{model}").json()["max_model_len"] == 8192


async def test_sixteen_concurrent_requests(async_client, model):
    prompts = [f"Count from {i} to {i + 5}." for i in range(16)]

    async def one(prompt):
        return await async_client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            temperature=0,
            max_tokens=32,
        )

    results = await asyncio.gather(*(one(p) for p in prompts))
    assert all(r.choices[0].message.content for r in results)
    # batched answers are the same as answers alone (greedy)
    alone = await one(prompts[5])
    assert results[5].choices[0].message.content == alone.choices[0].message.content


def test_openapi_schema_lists_the_routes(http):
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health"} <= set(paths)
