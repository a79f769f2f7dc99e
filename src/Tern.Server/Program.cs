using Tern.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddTern();

var app = builder.Build();
app.MapTern();
app.Run();

/// <summary>The entry point, visible to integration tests through WebApplicationFactory.</summary>
public partial class Program;
