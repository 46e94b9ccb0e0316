namespace Hearth.Server.Tests.Parrot;

[CollectionDefinition(Name)]
public sealed class ParrotServerCollection : ICollectionFixture<ParrotServer>
{
    public const string Name = "parrot server";
}
