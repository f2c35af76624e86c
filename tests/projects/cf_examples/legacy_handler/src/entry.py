from workers import Response, handler


@handler
async def on_fetch(request, env, ctx):
    print(f"{request.method} {request.url}")
    return Response(f"Hello from {env.NAME}!")
