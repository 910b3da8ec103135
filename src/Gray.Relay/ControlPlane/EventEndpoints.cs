// GET /api/v1/events: the relay's events as Server-Sent Events, each with its sequence number as the
// SSE id. A subscriber that falls behind gets a last "dropped" event and the stream ends.
using System.Text.Json;
using Gray.Relay.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Gray.Relay.ControlPlane;

internal static class EventEndpoints
{
    /// <summary>A comment line this often keeps proxies and browsers from closing an idle stream.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/events", async (HttpContext context, [FromServices] RelayCommands commands) =>
            {
                using var subscription = commands.Relay.Events.Subscribe();
                if (subscription is null)
                {
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    await context.Response.WriteAsJsonAsync(new ApiError("too many event subscribers"),
                        ApiJson.Default.ApiError, cancellationToken: context.RequestAborted).ConfigureAwait(false);
                    return;
                }

                await StreamAsync(context, subscription, commands.Relay.Time).ConfigureAwait(false);
            })
            .WithMetadata(new RequiresScope(ApiScope.Read)).WithTags("events")
            .WithSummary("Server-Sent Events: agents, pairs, refusals, reloads, drains (text/event-stream)");
    }

    private static async Task StreamAsync(HttpContext context, RelayEventHub.Subscription subscription,
        TimeProvider time)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx in front: pass each event on at once
        var stopping = context.RequestAborted;
        try
        {
            await response.WriteAsync(": gray relay events\n\n", stopping).ConfigureAwait(false);
            await response.Body.FlushAsync(stopping).ConfigureAwait(false);
            var events = subscription.Events;
            while (true)
            {
                using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(stopping))
                {
                    quiet.CancelAfter(KeepAliveInterval);
                    bool more;
                    try
                    {
                        more = await events.WaitToReadAsync(quiet.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                    {
                        await response.WriteAsync(": keep-alive\n\n", stopping).ConfigureAwait(false);
                        await response.Body.FlushAsync(stopping).ConfigureAwait(false);
                        continue;
                    }

                    if (!more) break;
                }

                while (events.TryRead(out var item)) await WriteAsync(response, item, stopping).ConfigureAwait(false);
                await response.Body.FlushAsync(stopping).ConfigureAwait(false);
            }

            if (subscription.WasDropped)
            {
                await WriteAsync(response, new RelayEvent(0, time.GetUtcNow(), RelayEventTypes.Dropped,
                    Reason: $"this subscriber fell {RelayEventHub.QueueEvents} events behind"), stopping)
                    .ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private static async Task WriteAsync(HttpResponse response, RelayEvent item, CancellationToken cancellationToken)
    {
        var body = response.BodyWriter;
        WriteAscii(body, $"id: {item.Sequence}\nevent: {item.Type}\ndata: ");
        using (var json = new Utf8JsonWriter(body))
        {
            JsonSerializer.Serialize(json, item, ApiJson.Default.RelayEvent);
        }

        WriteAscii(body, "\n\n");
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void WriteAscii(System.IO.Pipelines.PipeWriter writer, string text)
    {
        var span = writer.GetSpan(text.Length);
        int written = System.Text.Encoding.ASCII.GetBytes(text, span);
        writer.Advance(written);
    }
}
