// How an API call's failure becomes an answer: the registry's refusals and bad input are the caller's
// to fix (4xx, with the reason); anything else is the relay's and is left to Kestrel (500, logged).
using Microsoft.AspNetCore.Http;

namespace Gray.Relay.ControlPlane;

internal static class Api
{
    public static IResult Run(Func<IResult> action)
    {
        try
        {
            return action();
        }
        catch (Exception error) when (Refusal(error) is { } refusal)
        {
            return refusal;
        }
    }

    public static async Task<IResult> RunAsync(Func<Task<IResult>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception error) when (Refusal(error) is { } refusal)
        {
            return refusal;
        }
    }

    private static IResult? Refusal(Exception error) => error switch
    {
        UnknownServerException or NodeNotFoundException => TypedResults.NotFound(new ApiError(error.Message)),
        RegistryException => TypedResults.Conflict(new ApiError(error.Message)),
        FormatException => TypedResults.BadRequest(new ApiError(error.Message)),
        _ => null,
    };
}
