// TCP chat client: sends each stdin line to the chat server and prints everything the server multicasts.
using Gray.Net;

var cli = new Args(args);
using var stop = ConsoleInput.CancelOnCtrlC();

var client = new ChatClient(
    cli.EndPoint("127.0.0.1", 1111), tls: null, new TcpClientOptions { LoggerFactory = new ConsoleLog() });
return await Chat.RunClientConsoleAsync(client, stop);
