using Tern.Cli;

return await TernCli.RunAsync(args, CliContext.FromProcess());
