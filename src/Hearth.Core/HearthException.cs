namespace Hearth.Core;

/// <summary>
/// An error meant for the user: its message is one line that says what is wrong and, where possible,
/// what to do. The CLI prints the message alone, without a stack trace.
/// </summary>
public class HearthException : Exception
{
    public HearthException(string message) : base(message) { }

    public HearthException(string message, Exception inner) : base(message, inner) { }
}
