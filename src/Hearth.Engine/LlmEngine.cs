using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Hearth.Backends;
using Hearth.Engine.Core;
using Hearth.Engine.Loading;

namespace Hearth.Engine;

/// <summary>
/// The serving engine: one dedicated thread owns an <see cref="EngineCore"/> (scheduler, runner, sampler)
/// and steps it while there is work. Requests and aborts come in through one channel; each request's
/// outputs go out through its own channel, so callers on any thread just read a stream.
/// </summary>
public sealed class LlmEngine : ILlmEngine
{
    private readonly EngineCore _core;
    private readonly EngineOptions _options;
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stopping = new();
    private volatile EngineStats _stats;
    private volatile bool _alive = true;
    private int _numInFlight;

    private LlmEngine(EngineCore core, EngineOptions options)
    {
        _core = core;
        _options = options;
        _stats = core.GetStats(true);
        _thread = new Thread(Loop) { IsBackground = true, Name = "hearth-engine" };
        _thread.Start();
    }

    /// <summary>Builds the engine around a loaded model and starts its thread.</summary>
    public static LlmEngine Start(LoadedModel model, IBackend backend, EngineOptions options) =>
        new(new EngineCore(model, backend, options), options);

    public int MaxModelLen => _core.MaxModelLen;

    /// <summary>Why the engine thread stopped, if it died.</summary>
    public Exception? Fault { get; private set; }

    public EngineStats GetStats() => _stats with { IsAlive = _alive };

    public IAsyncEnumerable<EngineOutput> GenerateAsync(EngineRequest request, CancellationToken cancellationToken = default)
    {
        if (!_alive) throw new InvalidOperationException("the engine has stopped" + (Fault is null ? "" : ": " + Fault.Message));
        if (Interlocked.Increment(ref _numInFlight) > _options.MaxNumSeqs + _options.MaxQueue)
        {
            Interlocked.Decrement(ref _numInFlight);
            throw new EngineOverloadedException($"the server is busy: {_options.MaxNumSeqs} requests are running and {_options.MaxQueue} are waiting");
        }
        try
        {
            // Admission errors (prompt too long, bad parameters) reach the caller before any output.
            _core.Validate(request);
        }
        catch
        {
            Interlocked.Decrement(ref _numInFlight);
            throw;
        }
        var outputs = Channel.CreateUnbounded<EngineOutput>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        if (!_commands.Writer.TryWrite(new Command(request, outputs.Writer)))
        {
            Interlocked.Decrement(ref _numInFlight);
            throw new InvalidOperationException("the engine has stopped");
        }
        return Stream(request.RequestId, outputs.Reader, cancellationToken);
    }

    public void Abort(string requestId) => _commands.Writer.TryWrite(new Command(requestId));

    private async IAsyncEnumerable<EngineOutput> Stream(string requestId, ChannelReader<EngineOutput> reader,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        bool finished = false;
        try
        {
            // Cancellation surfaces as OperationCanceledException here; the finally block aborts the request.
            await foreach (var output in reader.ReadAllAsync(cancellationToken))
            {
                finished = output.IsFinished;
                yield return output;
                if (finished) yield break;
                // ReadAllAsync hands out buffered outputs without looking at the token: a consumer that cancels while
                // the engine is ahead of it must still stop here, not drain the rest of the generation.
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            // A consumer that stops reading early (a client that went away) must not leave its blocks behind.
            if (!finished) Abort(requestId);
            Interlocked.Decrement(ref _numInFlight);
        }
    }

    private void Loop()
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                while (_commands.Reader.TryRead(out var command)) Apply(command);
                if (!_core.HasWork)
                {
                    _stats = _core.GetStats(true);
                    if (!_commands.Reader.WaitToReadAsync(_stopping.Token).AsTask().GetAwaiter().GetResult()) break;
                    continue;
                }
                _core.Step();
                _stats = _core.GetStats(true);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Fault = e;
            Console.Error.WriteLine("hearth: the engine thread stopped: " + e);
        }
        finally
        {
            _alive = false;
            _commands.Writer.TryComplete();
            FailPending();
        }
    }

    private void Apply(Command command)
    {
        if (command.Request is null)
        {
            _core.Abort(command.AbortId!);
            return;
        }
        var writer = command.Outputs!;
        try
        {
            _core.Add(command.Request, output =>
            {
                writer.TryWrite(output);
                if (output.IsFinished) writer.TryComplete();
            });
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
        }
    }

    // Requests still queued when the thread ends get an error instead of waiting forever.
    private void FailPending()
    {
        while (_commands.Reader.TryRead(out var command))
        {
            command.Outputs?.TryComplete(new InvalidOperationException("the engine has stopped"));
        }
        _core.AbortAll();
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _commands.Writer.TryComplete();
        await Task.Run(() => _thread.Join()).ConfigureAwait(false);
        _core.Dispose();
        _stopping.Dispose();
    }

    private sealed record Command(EngineRequest? Request, ChannelWriter<EngineOutput>? Outputs, string? AbortId = null)
    {
        public Command(string abortId) : this(null, null, abortId) { }
    }
}
