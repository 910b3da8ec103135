// gray: the relay, the agent and the admin commands of the Gray tunnel.
return await Gray.Cli.GrayCommandLine.RunAsync(args);
