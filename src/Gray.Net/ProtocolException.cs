// Bytes from a peer that break a wire format (Gray's control and data frames, or the multiplexing
// frames): the one exception for them. It is an IOException, so a splice or a session treats it as the
// end of the connection; the message says what was wrong, for the log.
namespace Gray.Net;

public sealed class ProtocolException(string message) : IOException(message);
