// gray: the relay, the agent and the admin commands of the Gray tunnel.

// Socket continuations run on the socket engine's threads (one per core) instead of hopping to the
// thread pool: a forwarded message then costs no thread handoff (decision 0001). Read once by the
// runtime when the first socket is made; an explicit setting wins.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

return await Gray.Cli.GrayCommandLine.RunAsync(args);
