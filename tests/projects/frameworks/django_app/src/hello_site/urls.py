from django.http import HttpResponse, JsonResponse
from django.urls import path


def home(request):
    return HttpResponse("Hello from Django on a Worker", content_type="text/plain")


def greet(request, name):
    return JsonResponse({"hello": name, "method": request.method, "q": request.GET.get("q"),
                         "body": request.body.decode() or None})


urlpatterns = [
    path("", home),
    path("greet/<str:name>/", greet),
]
