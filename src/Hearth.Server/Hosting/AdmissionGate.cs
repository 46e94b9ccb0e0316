namespace Hearth.Server.Hosting;

/// <summary>Counts generation requests in flight and refuses new ones past a fixed cap.</summary>
public sealed class AdmissionGate
{
    private readonly int _maxInFlight;
    private int _numInFlight;

    public AdmissionGate(int maxInFlight)
    {
        if (maxInFlight < 1) throw new ArgumentOutOfRangeException(nameof(maxInFlight), "must be at least 1");
        _maxInFlight = maxInFlight;
    }

    public int NumInFlight => Volatile.Read(ref _numInFlight);

    /// <summary>A lease to dispose when the request ends, or null when the server is full.</summary>
    public Lease? TryEnter()
    {
        if (Interlocked.Increment(ref _numInFlight) <= _maxInFlight) return new Lease(this);
        Interlocked.Decrement(ref _numInFlight);
        return null;
    }

    public sealed class Lease : IDisposable
    {
        private AdmissionGate? _gate;

        internal Lease(AdmissionGate gate) => _gate = gate;

        public void Dispose()
        {
            var gate = Interlocked.Exchange(ref _gate, null);
            if (gate is not null) Interlocked.Decrement(ref gate._numInFlight);
        }
    }
}
