namespace Hearth.Server;

/// <summary>Marker for the server assembly (used to locate embedded resources such as the web UI).</summary>
public static class ServerAssembly;
