// /openapi/v1.json: the OpenAPI document of every route, generated from the endpoints' metadata.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Gray.Relay.ControlPlane;

internal static class OpenApiDocument
{
    public static void Add(IServiceCollection services) =>
        services.AddOpenApi(options =>
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Gray relay control plane";
                document.Info.Description = "Bearer tokens: read (status, metrics, events) or admin (changes).";
                return Task.CompletedTask;
            }));

    public static void Map(IEndpointRouteBuilder app) => app.MapOpenApi("/openapi/{documentName}.json");
}
