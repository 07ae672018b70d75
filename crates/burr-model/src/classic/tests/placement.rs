//! Availability zones, subnets and security groups kept as labels, and regions as namespaces.

use super::*;

/// Creates the balancer stored under `key` with one HTTP listener 80 → 8080 and no placement.
fn create_web(state: &mut State, key: &str) -> Result<(), ClassicError> {
    create(state, key, &[http(80, 8080)], ctx(&pool()))
}

fn labels(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn placement_given_at_creation_is_kept_in_order_without_repeats() {
    let p = pool();
    let mut state = State::default();
    let placement = Placement {
        availability_zones: labels(&["us-east-1b", "us-east-1a", "us-east-1b"]),
        subnets: labels(&["subnet-2", "subnet-1"]),
        security_groups: labels(&["sg-9"]),
    };
    create_load_balancer(
        &mut state,
        "web",
        &[http(80, 8080)],
        None,
        &[],
        &placement,
        ctx(&p),
    )
    .unwrap();
    let kept = &state.balancers["web"].aws.placement;
    assert_eq!(
        kept.availability_zones,
        labels(&["us-east-1b", "us-east-1a"])
    );
    assert_eq!(kept.subnets, labels(&["subnet-2", "subnet-1"]));
    assert_eq!(kept.security_groups, labels(&["sg-9"]));
}

#[test]
fn enabling_and_attaching_append_and_repeating_them_changes_nothing() {
    let mut state = with_lb(&[http(80, 8080)]);
    let zones = PlacementList::AvailabilityZones;
    add_placement(&mut state, "web", zones, &labels(&["us-east-1a"])).unwrap();
    add_placement(
        &mut state,
        "web",
        zones,
        &labels(&["us-east-1c", "us-east-1a"]),
    )
    .unwrap();
    let once = state.clone();
    add_placement(&mut state, "web", zones, &labels(&["us-east-1c"])).unwrap();
    assert_eq!(state, once);
    assert_eq!(
        state.balancers["web"].aws.placement.availability_zones,
        labels(&["us-east-1a", "us-east-1c"])
    );
    let subnets = PlacementList::Subnets;
    add_placement(&mut state, "web", subnets, &labels(&["subnet-1"])).unwrap();
    remove_placement(
        &mut state,
        "web",
        subnets,
        &labels(&["subnet-1", "subnet-x"]),
    )
    .unwrap();
    assert!(state.balancers["web"].aws.placement.subnets.is_empty());
}

#[test]
fn the_last_availability_zone_cannot_be_disabled() {
    let mut state = with_lb(&[http(80, 8080)]);
    let zones = PlacementList::AvailabilityZones;
    add_placement(
        &mut state,
        "web",
        zones,
        &labels(&["us-east-1a", "us-east-1b"]),
    )
    .unwrap();
    remove_placement(&mut state, "web", zones, &labels(&["us-east-1a"])).unwrap();
    let before = state.clone();
    let err = remove_placement(&mut state, "web", zones, &labels(&["us-east-1b"])).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfigurationRequest);
    assert!(err.message.contains("at least one"), "{err}");
    // The operation's copy of the state is discarded on error; the caller's stays as it was.
    assert_eq!(
        before.balancers["web"].aws.placement.availability_zones,
        labels(&["us-east-1b"])
    );
}

#[test]
fn security_groups_are_replaced_and_bad_labels_refused_by_name() {
    let mut state = with_lb(&[http(80, 8080)]);
    set_security_groups(&mut state, "web", &labels(&["sg-1", "sg-2"])).unwrap();
    set_security_groups(&mut state, "web", &labels(&["sg-3"])).unwrap();
    assert_eq!(
        state.balancers["web"].aws.placement.security_groups,
        labels(&["sg-3"])
    );
    for bad in ["", "sg 1", &"x".repeat(MAX_LABEL_LEN + 1)] {
        let err = set_security_groups(&mut state, "web", &labels(&[bad])).unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationError);
        assert!(err.message.starts_with("SecurityGroups: "), "{err}");
    }
    let err =
        add_placement(&mut state, "nope", PlacementList::Subnets, &labels(&["s"])).unwrap_err();
    assert_eq!(err.code, ErrorCode::LoadBalancerNotFound);
}

#[test]
fn regions_hold_balancers_of_the_same_name_apart() {
    let mut state = with_lb(&[http(80, 8080)]);
    let eu = crate::region::qualified("eu-west-1", "web");
    create_web(&mut state, &eu).unwrap();
    assert!(state.validate(None).is_ok());
    assert_eq!(state.balancers[&eu].listeners[0].pool, "eu-west-1/web-80");
    assert_ne!(state.balancers["web"].address, state.balancers[&eu].address);
    // Messages show the name as the region's clients know it.
    let err = create_policy(
        &mut state,
        "eu-west-1/nope",
        lb_cookie_policy("p", None).unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.message, "There is no ACTIVE Load Balancer named 'nope'");
    delete_load_balancer(&mut state, "web").unwrap();
    assert!(state.balancers.contains_key(&eu) && state.pools.contains_key("eu-west-1/web-80"));
}

#[test]
fn the_balancer_quota_is_counted_per_region() {
    let mut state = State::default();
    for i in 0..MAX_LOAD_BALANCERS {
        let name = format!("b{i}");
        create_web(&mut state, &name).unwrap();
    }
    let more = create_web(&mut state, "one-more");
    assert_eq!(code(more), ErrorCode::TooManyLoadBalancers);
    let eu = crate::region::qualified("eu-west-1", "one-more");
    create_web(&mut state, &eu).unwrap();
}
