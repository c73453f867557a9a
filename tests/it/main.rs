
mod capture;
mod class;
mod dns_server;
mod netns;
mod plan;
mod spec;
mod bind;
mod examples;
